"""The pages a tenant's staff run the shop with: orders, returns, stock."""
