"""Faithfulness development sets, built from text that ships in packages."""
