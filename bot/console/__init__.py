"""The volunteers' console in the browser: sign-up from an invite, log-in, the live queue
and the conversations over a WebSocket (see routes.py and socket.py)."""
