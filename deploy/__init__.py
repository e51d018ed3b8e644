"""How Sucai is run in production: the nginx configuration and the launcher (deploy/prod.py)."""
