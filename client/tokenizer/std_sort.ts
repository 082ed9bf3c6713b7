/**
 * @module `std::sort` as GNU libstdc++ implements it (introsort: median-of-three quicksort down to
 * runs of 16, heapsort past the depth limit, then insertion sort). It is not stable, so the order it
 * leaves equal elements in is part of llama.cpp's behaviour (the special tokens are sorted by length
 * with it); this reproduces that order exactly.
 */

/** Sorts `a` in place with `less` exactly as libstdc++'s `std::sort(a.begin(), a.end(), less)`. */
export function stdSort<T>(a: T[], less: (x: T, y: T) => boolean): void {
  const n = a.length;
  if (n === 0) return;
  introsortLoop(a, 0, n, 2 * Math.floor(Math.log2(n)), less);
  finalInsertionSort(a, 0, n, less);
}

const THRESHOLD = 16;

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function introsortLoop<T>(
  a: T[],
  first: number,
  last: number,
  depth: number,
  less: (x: T, y: T) => boolean,
): void {
  while (last - first > THRESHOLD) {
    if (depth === 0) {
      heapSort(a, first, last, less);
      return;
    }
    depth--;
    const cut = partitionPivot(a, first, last, less);
    introsortLoop(a, cut, last, depth, less);
    last = cut;
  }
}

function partitionPivot<T>(
  a: T[],
  first: number,
  last: number,
  less: (x: T, y: T) => boolean,
): number {
  const mid = first + ((last - first) >> 1);
  moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
  // Unguarded partition of [first + 1, last) around a[first].
  let lo = first + 1;
  let hi = last;
  for (;;) {
    while (less(a[lo], a[first])) lo++;
    hi--;
    while (less(a[first], a[hi])) hi--;
    if (!(lo < hi)) return lo;
    swap(a, lo, hi);
    lo++;
  }
}

function moveMedianToFirst<T>(
  a: T[],
  result: number,
  x: number,
  y: number,
  z: number,
  less: (p: T, q: T) => boolean,
): void {
  if (less(a[x], a[y])) {
    if (less(a[y], a[z])) swap(a, result, y);
    else if (less(a[x], a[z])) swap(a, result, z);
    else swap(a, result, x);
  } else if (less(a[x], a[z])) swap(a, result, x);
  else if (less(a[y], a[z])) swap(a, result, z);
  else swap(a, result, y);
}

/** `std::__partial_sort(first, last, last)`: make_heap, then pop every element. */
function heapSort<T>(a: T[], first: number, last: number, less: (x: T, y: T) => boolean): void {
  const len = last - first;
  if (len >= 2) {
    for (let parent = (len - 2) >> 1;; parent--) {
      adjustHeap(a, first, parent, len, a[first + parent], less);
      if (parent === 0) break;
    }
  }
  while (last - first > 1) {
    last--;
    const value = a[last];
    a[last] = a[first];
    adjustHeap(a, first, 0, last - first, value, less);
  }
}

/** `std::__adjust_heap`: sift the hole at `hole` down, then push `value` up from there. */
function adjustHeap<T>(
  a: T[],
  first: number,
  hole: number,
  len: number,
  value: T,
  less: (x: T, y: T) => boolean,
): void {
  const top = hole;
  let child = hole;
  while (child < (len - 1) >> 1) {
    child = 2 * (child + 1);
    if (less(a[first + child], a[first + child - 1])) child--;
    a[first + hole] = a[first + child];
    hole = child;
  }
  if ((len & 1) === 0 && child === (len - 2) >> 1) {
    child = 2 * (child + 1);
    a[first + hole] = a[first + child - 1];
    hole = child - 1;
  }
  // std::__push_heap
  let parent = (hole - 1) >> 1;
  while (hole > top && less(a[first + parent], value)) {
    a[first + hole] = a[first + parent];
    hole = parent;
    parent = (hole - 1) >> 1;
  }
  a[first + hole] = value;
}

function finalInsertionSort<T>(
  a: T[],
  first: number,
  last: number,
  less: (x: T, y: T) => boolean,
): void {
  if (last - first > THRESHOLD) {
    insertionSort(a, first, first + THRESHOLD, less);
    for (let i = first + THRESHOLD; i < last; i++) unguardedLinearInsert(a, i, less);
  } else insertionSort(a, first, last, less);
}

function insertionSort<T>(
  a: T[],
  first: number,
  last: number,
  less: (x: T, y: T) => boolean,
): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    if (less(a[i], a[first])) {
      const v = a[i];
      for (let j = i; j > first; j--) a[j] = a[j - 1];
      a[first] = v;
    } else unguardedLinearInsert(a, i, less);
  }
}

function unguardedLinearInsert<T>(a: T[], last: number, less: (x: T, y: T) => boolean): void {
  const v = a[last];
  let next = last - 1;
  while (less(v, a[next])) {
    a[last] = a[next];
    last = next;
    next--;
  }
  a[last] = v;
}
