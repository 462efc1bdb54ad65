"""``python -m runs.bench``: run the benchmark suite."""

from runs.bench.suite import main

if __name__ == "__main__":
    main()
