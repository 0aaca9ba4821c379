"""Scheduling layer (SayCan-style planners, language-model backends, executor loop).

The planners are tracked in the project's planner issue; this package is the place they land.
"""
