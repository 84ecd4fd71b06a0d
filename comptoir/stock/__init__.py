"""Stock shared live between the web shop and the physical shops of a country office."""
