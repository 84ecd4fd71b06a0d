"""A tenant's customers: companies (B2B) and the people who log in."""
