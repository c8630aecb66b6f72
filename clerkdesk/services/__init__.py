"""Use cases. Every rule and every permission check lives here, once.

Conventions every service follows:
- It takes plain values (ids, strings, dates) and the acting `StaffSession`, never widgets or
  ORM objects from the caller, and returns plain view objects.
- It checks its permission device with `permissions.require` before touching anything.
- Each call is one `database.atomic()` block (`unit_of_work.transactional`): a normal exit
  commits, an exception rolls back and propagates, so bad input changes nothing.
- It never imports Qt; the desktop UI and the CLI are two thin front ends over it.
"""
