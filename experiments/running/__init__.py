"""Running many models: one run, sweeps over designs, the run cache, output folders.

Also what keeps long runs safe: progress lines, the memory check before a run starts and
worker processes that end when their parent ends.
"""
