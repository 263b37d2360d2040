"""What annotation tells the other apps, which it may not import (docs/architecture.md): one signal."""
from django.dispatch import Signal

# Sent by services.annotator_withdraw inside its transaction, once the annotator's rows are deleted
# and the Withdrawal recorded, with `withdrawal` (the record) and `annotator_id` (the deleted row's
# id, which derived results elsewhere are keyed by). A receiver removes what its app derived from
# the person; one that raises undoes the whole withdrawal, so a person is never half withdrawn.
annotator_withdrawn = Signal()
