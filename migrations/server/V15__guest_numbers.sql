-- A walk-in guest gets its customer number at its first order (issue 13, part 4): until then it
-- is one visit, not a customer anyone looks up by number, and it uses up no number. Every other
-- customer has one from its creation; a guest that gains a name and a phone (a stub) gets one
-- then. Guests created before keep theirs.
ALTER TABLE customers
    ALTER COLUMN customer_number DROP NOT NULL,
    ADD CONSTRAINT customers_numbered_unless_guest
        CHECK (customer_number IS NOT NULL OR kind = 'guest');
