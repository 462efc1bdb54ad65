"""Studies: experiments of the literature reproduced (fidelity, pruning, LP table, demo)."""
