"""Check-ins: planning rules, quiet hours and the runner that sends what is due."""
