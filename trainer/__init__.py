"""F2A trainer: pix2pix, CycleGAN, UNIT and U-GAT-IT light on F2A exports (`python -m trainer`).

Imports nothing of f2a_studio but f2a_studio.core (tests/test_lint.py checks it).
"""
