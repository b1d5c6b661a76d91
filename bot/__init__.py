"""The running snakkes service: CLI, wiring, channels and the web app."""
