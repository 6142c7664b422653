"""Safety signals: prompt-injection and jailbreak attempts in inputs, PII in outputs."""
