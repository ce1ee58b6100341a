"""labkit's own fix A, imported rather than written."""
from labkit.kernel.variants import kstat_install  # noqa: F401
