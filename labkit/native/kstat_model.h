/*
 * kstat_model.h: the small kernel a learner's C is written against.
 *
 * Design note. This is a user-space model of the pieces of illumos that bug 4997 needs:
 * a kstat_t laid out byte for byte like amd64's (184 bytes), the chain of kstats ordered by
 * kid (the kernel keeps it in an AVL tree, kstat_avl_bykid), kstat_chain_lock, the per-kstat
 * hold, and bcopy.  The engine (engine.c) runs a reader thread ("R", read_kstat_data on the
 * header kstat) and a writer thread ("W", zone_create -> kstat_install) over it on real
 * pthreads.  The names are the kernel's, so code written here reads like kstat_fr.c.
 *
 * bcopy() is the engine's: in detect mode it checks every copy against the buffer the
 * reader allocated and counts an overflow instead of performing it; in crash mode it copies
 * forward, byte by byte, unchecked, into a buffer that ends at an unmapped guard page.
 */
#ifndef LABKIT_KSTAT_MODEL_H
#define LABKIT_KSTAT_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

typedef int64_t hrtime_t;
typedef int32_t kid_t;
typedef unsigned char uchar_t;
typedef unsigned int uint_t;

#define KSTAT_STRLEN 31

/* amd64 kstat_t (sys/kstat.h); offsets in the comments are checked below. */
typedef struct kstat {
	hrtime_t ks_crtime;			/* 0x00 */
	struct kstat *ks_next;			/* 0x08 */
	kid_t ks_kid;				/* 0x10 */
	char ks_module[KSTAT_STRLEN];		/* 0x14 */
	uchar_t ks_resv;			/* 0x33 */
	int ks_instance;			/* 0x34 */
	char ks_name[KSTAT_STRLEN];		/* 0x38 */
	uchar_t ks_type;			/* 0x57 */
	char ks_class[KSTAT_STRLEN];		/* 0x58 */
	uchar_t ks_flags;			/* 0x77 */
	void *ks_data;				/* 0x78 */
	uint_t ks_ndata;			/* 0x80 */
	size_t ks_data_size;			/* 0x88 */
	hrtime_t ks_snaptime;			/* 0x90 */
	int (*ks_update)(struct kstat *, int);	/* 0x98 */
	void *ks_private;			/* 0xa0 */
	int (*ks_snapshot)(struct kstat *, void *, int); /* 0xa8 */
	void *ks_lock;				/* 0xb0 */
} kstat_t;

_Static_assert(sizeof (kstat_t) == 184, "kstat_t must be 184 (0xb8) bytes, as on amd64");
_Static_assert(offsetof(kstat_t, ks_flags) == 0x77, "ks_flags must be at 0x77");
_Static_assert(offsetof(kstat_t, ks_data_size) == 0x88, "ks_data_size must be at 0x88");

/* ks_flags */
#define KSTAT_FLAG_VIRTUAL	0x01
#define KSTAT_FLAG_VAR_SIZE	0x02
#define KSTAT_FLAG_WRITABLE	0x04
#define KSTAT_FLAG_PERSISTENT	0x08
#define KSTAT_FLAG_DORMANT	0x10
#define KSTAT_FLAG_INVALID	0x20

/* ks_type, and the rw argument of ks_update / ks_snapshot */
#define KSTAT_TYPE_RAW		0
#define KSTAT_TYPE_NAMED	1
#define KSTAT_READ		0
#define KSTAT_WRITE		1

#ifndef EACCES
#define EACCES 13
#endif

/* Locks: an adaptive mutex like the kernel's kmutex_t (spins while the owner runs). */
typedef struct kmutex {
	pthread_mutex_t m;
	int owner;			/* 'R', 'W' or 0; for MUTEX_HELD */
} kmutex_t;

extern kmutex_t kstat_chain_lock;
void mutex_enter(kmutex_t *);
void mutex_exit(kmutex_t *);
int lk_mutex_held(kmutex_t *);
#define MUTEX_HELD(mp)	lk_mutex_held(mp)
void lk_assert_failed(const char *, const char *, int);
#define ASSERT(e)	((e) ? (void)0 : lk_assert_failed(#e, __FILE__, __LINE__))

/* The chain, in kid order; the header kstat (kid 0) comes first.  Walk it holding the lock. */
kstat_t *kstat_chain_first(void);
kstat_t *kstat_chain_next(kstat_t *);

/* The per-kstat hold: kstat_hold_bykid and kstat_rele each take kstat_chain_lock briefly. */
kstat_t *kstat_hold_bykid(kid_t);
void kstat_rele(kstat_t *);

/* The kernel's bcopy(src, dst, len); a macro so it never clashes with <strings.h>. */
void lk_bcopy(const void *, void *, size_t);
#define bcopy	lk_bcopy
hrtime_t gethrtime(void);

/*
 * What a variant of the lesson provides (the built-in ones in variants.c, a learner's in
 * their own file): the end of kstat_install, and the header kstat's two callbacks.
 */
struct lk_variant {
	const char *name;
	void (*install)(kstat_t *);
	int (*update)(kstat_t *, int);
	int (*snapshot)(kstat_t *, void *, int);
};

#endif /* LABKIT_KSTAT_MODEL_H */
