"""Organisations, volunteers, the handover queue and the anonymous relay."""
