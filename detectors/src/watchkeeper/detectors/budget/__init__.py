"""False-alarm targets from a budget in time: false pages per week per service."""
