"""The numbers of the real thing: kstat_t's amd64 layout, flags, ioctls, data models.

All of these are read off the illumos source (see the course's reference notes); the tests check
that the layout adds up (offsets increase, sizeof is 0xb8, 0xfff70 / 0xb8 = 0x1642).
"""

# kstat_t on amd64: (field, offset, size, C type). sizeof (kstat_t) = 0xb8 = 184.
KSTAT_T_FIELDS = (
    ("ks_crtime", 0x00, 8, "hrtime_t"),
    ("ks_next", 0x08, 8, "struct kstat *"),
    ("ks_kid", 0x10, 4, "kid_t"),
    ("ks_module", 0x14, 31, "char [31]"),
    ("ks_resv", 0x33, 1, "uchar_t"),
    ("ks_instance", 0x34, 4, "int"),
    ("ks_name", 0x38, 31, "char [31]"),
    ("ks_type", 0x57, 1, "uchar_t"),
    ("ks_class", 0x58, 31, "char [31]"),
    ("ks_flags", 0x77, 1, "uchar_t"),
    ("ks_data", 0x78, 8, "void *"),
    ("ks_ndata", 0x80, 4, "uint_t"),
    ("ks_data_size", 0x88, 8, "size_t"),
    ("ks_snaptime", 0x90, 8, "hrtime_t"),
    ("ks_update", 0x98, 8, "int (*)()"),
    ("ks_private", 0xa0, 8, "void *"),
    ("ks_snapshot", 0xa8, 8, "int (*)()"),
    ("ks_lock", 0xb0, 8, "void *"),
)
SIZEOF_KSTAT_T = 0xB8
#: What a 32-bit reader gets back for each header after read_kstat_data repacks the array.
SIZEOF_KSTAT32_T = 0x98

KSTAT_STRLEN = 31

# ks_flags
KSTAT_FLAG_VIRTUAL = 0x01
KSTAT_FLAG_VAR_SIZE = 0x02
KSTAT_FLAG_WRITABLE = 0x04
KSTAT_FLAG_PERSISTENT = 0x08
KSTAT_FLAG_DORMANT = 0x10
KSTAT_FLAG_INVALID = 0x20
KSTAT_FLAG_NAMES = {
    KSTAT_FLAG_VIRTUAL: "VIRTUAL", KSTAT_FLAG_VAR_SIZE: "VAR_SIZE",
    KSTAT_FLAG_WRITABLE: "WRITABLE", KSTAT_FLAG_PERSISTENT: "PERSISTENT",
    KSTAT_FLAG_DORMANT: "DORMANT", KSTAT_FLAG_INVALID: "INVALID",
}

# ks_type
KSTAT_TYPE_RAW = 0
KSTAT_TYPE_NAMED = 1

# update/snapshot rw argument
KSTAT_READ = 0
KSTAT_WRITE = 1

# ioctls of /dev/kstat: ('K' << 8) | n
KSTAT_IOC_BASE = ord("K") << 8
KSTAT_IOC_CHAIN_ID = KSTAT_IOC_BASE | 0x01
KSTAT_IOC_READ = KSTAT_IOC_BASE | 0x02
KSTAT_IOC_WRITE = KSTAT_IOC_BASE | 0x03

# the ioctl flag word: open mode bits and the caller's data model
FREAD = 0x1
FWRITE = 0x2
DATAMODEL_ILP32 = 0x00100000
DATAMODEL_LP64 = 0x00200000
FMODELS = 0x0FF00000

# errno values
ENXIO = 6
EAGAIN = 11
ENOMEM = 12
EACCES = 13
ERRNO_NAMES = {0: "0", ENXIO: "ENXIO", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES"}

GLOBAL_ZONEID = 0

PAGESIZE = 0x1000
#: kmem_alloc sizes above this come from the oversize arena, rounded up to whole pages.
KMEM_OVERSIZE_THRESHOLD = 128 * 1024

# dev_t on a 64-bit kernel: 32 minor bits
NBITSMINOR = 32


def field(name: str) -> tuple[int, int, str]:
    """(offset, size, ctype) of a kstat_t member."""
    for f, off, size, ctype in KSTAT_T_FIELDS:
        if f == name:
            return off, size, ctype
    raise KeyError(name)


def flag_names(flags: int) -> str:
    """0x3 -> 'VIRTUAL|VAR_SIZE'."""
    names = [n for bit, n in sorted(KSTAT_FLAG_NAMES.items()) if flags & bit]
    return "|".join(names) if names else "0"
