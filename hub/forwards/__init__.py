"""Forward reports: what partners say they forwarded, where, and the offline work they did."""
