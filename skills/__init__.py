"""Skill layer: Skill, SkillLibrary (on-disk), policy kinds, training, evaluation."""
