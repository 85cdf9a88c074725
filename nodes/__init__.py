"""Graph nodes, one module each: small functions of (state, runtime) returning a partial update."""
