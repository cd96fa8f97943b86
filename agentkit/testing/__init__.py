"""Offline testing kit: the provider emulator, scripted models and the pytest plugin."""
