"""The tenant's shop front: home page, product pages, brand assets."""
