"""Training and structure learning."""
