"""The scale-out run's parts (``scripts/scale_out.py`` is the script): the servers it starts,
the world it builds in the hub, and the traffic and checks it runs."""
