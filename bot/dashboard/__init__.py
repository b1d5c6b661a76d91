"""The coordinators' dashboard at /dashboard: anonymised statistics and volunteer
management, behind a log-in."""
