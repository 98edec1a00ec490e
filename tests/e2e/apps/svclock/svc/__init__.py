"""A user's service: requirements.txt beside its package, deployed from the project root."""
