"""The routes of the centre's HTTP service, one module per group (all thin: see ``deps``)."""
