"""deployer: a FastAPI application from nothing to HTTPS in production, and kept there."""

__version__ = "0.1.0"
