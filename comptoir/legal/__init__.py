"""Legal texts a shop publishes: terms of sale (CGV), legal notice, privacy policy."""
