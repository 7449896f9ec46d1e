//! Generational slab mapping mio tokens to sources. A key names one slot
//! and the generation it was filled in, so a token left over from a closed
//! source never reaches the source that later reuses its slot.

use mio::Token;

/// Tokens at or above this value are the reactor's own (signals, inotify);
/// keys never produce them because generations stay below 2^31.
pub(crate) const RESERVED_TOKENS: usize = usize::MAX - 15;

/// Slot index plus generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    idx: u32,
    generation: u32,
}

impl Key {
    /// The mio token for this key: generation in the high 32 bits.
    pub(crate) fn token(self) -> Token {
        Token(((self.generation as usize) << 32) | self.idx as usize)
    }

    /// The key a token was made from (`None` for reserved tokens).
    pub(crate) fn from_token(token: Token) -> Option<Key> {
        if token.0 >= RESERVED_TOKENS {
            return None;
        }
        Some(Key {
            idx: (token.0 & 0xffff_ffff) as u32,
            generation: (token.0 >> 32) as u32,
        })
    }
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Storage for values addressed by [`Key`].
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores `value` and returns its key.
    ///
    /// # Panics
    /// If more than 2^32 values are alive at once.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        if let Some(idx) = self.free.pop() {
            let slot = &mut self.slots[idx as usize];
            slot.value = Some(value);
            return Key {
                idx,
                generation: slot.generation,
            };
        }
        let idx = u32::try_from(self.slots.len()).unwrap_or_else(|_| panic!("slab full"));
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Key { idx, generation: 0 }
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.idx as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.idx as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_mut()
    }

    /// Keys of the values matching `pred`.
    pub(crate) fn keys_where(&self, mut pred: impl FnMut(&T) -> bool) -> Vec<Key> {
        let mut keys = Vec::new();
        for (idx, slot) in (0u32..).zip(&self.slots) {
            if slot.value.as_ref().is_some_and(&mut pred) {
                keys.push(Key {
                    idx,
                    generation: slot.generation,
                });
            }
        }
        keys
    }

    /// Takes the value out; its key (and token) is dead from now on.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.idx as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1) & 0x7fff_ffff;
        self.free.push(key.idx);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_miss_after_slot_reuse() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_ne!(a, b);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.get_mut(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
    }

    #[test]
    fn keys_where_finds_live_matches_only() {
        let mut slab = Slab::new();
        let a = slab.insert(1);
        let b = slab.insert(2);
        let c = slab.insert(1);
        slab.remove(c);
        assert_eq!(slab.keys_where(|v| *v == 1), [a]);
        assert_eq!(slab.keys_where(|_| true), [a, b]);
    }

    #[test]
    fn tokens_round_trip_and_reserved_tokens_are_not_keys() {
        let mut slab = Slab::new();
        for _ in 0..3 {
            let k = slab.insert(());
            slab.remove(k);
        }
        let k = slab.insert(());
        assert_eq!(Key::from_token(k.token()), Some(k));
        assert_eq!(Key::from_token(Token(usize::MAX)), None);
        assert_eq!(Key::from_token(Token(RESERVED_TOKENS)), None);
    }
}
