/* query/search_impl.h (internal to query/): what calibrate.c needs of a search handle beyond search.h. */
#ifndef SEM_SEARCH_IMPL_H
#define SEM_SEARCH_IMPL_H

#include "query/search.h"

/* Sets the weight hybrid cc search uses when a query gives none (after a calibration). Must not overlap other
 * calls on s. */
void sem_search_set_semantic_weight(sem_search *s, float w);

#endif
