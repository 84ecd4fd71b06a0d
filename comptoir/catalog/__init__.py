"""The catalogue a tenant sells: products and their public prices."""
