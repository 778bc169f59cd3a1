"""A room's or rack's budgets: power, cooling, rack units, floor load; which runs out first."""
