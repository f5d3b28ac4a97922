"""``python -m scavenger.sim``: the simulate command without the top-level CLI (used by the test helper)."""

from scavenger.sim.cli import simulate

if __name__ == "__main__":
    simulate.main(prog_name="scavenger simulate")
