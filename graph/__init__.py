"""State, Context, routing and wiring of the ragloop graph."""
