"""Stacks that compose the constructs: the ECS workshop's bridge-mode lab."""
