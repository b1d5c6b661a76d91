"""The anonymous web chat: a page at /, a WebSocket at /ws, no account and no app.

`routes.add_routes` wires it into the aiohttp app; `WebChannel` connects sockets to the
core and is the web's `Sender` for the outbox (check-ins, volunteer relay).
"""
