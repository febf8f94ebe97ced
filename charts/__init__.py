"""The chart of an item's whole life: a plan decided from views (plan.py), painted by draw.py.

No Discord and no store here: services gather the data, the cog and the web routes send bytes.
"""
