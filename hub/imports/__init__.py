"""CSV imports (partners with contacts, areas with uptake) and CSV exports of the registry."""
