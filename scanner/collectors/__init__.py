"""Collectors: each gathers one family of facts for many hosts at once (see base.py)."""
