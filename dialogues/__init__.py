"""The conversation engine, its content (Danish and English) and the safety net."""
