"""The sample FastAPI service that deployer deploys: auth, users, items, health and metrics."""
