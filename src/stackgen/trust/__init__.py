"""What makes files and inputs trustworthy wherever they are used: the errors a user can fix,
writes that never leave half a file (atomic), and reading back without running code from a file
(Keras's safe mode, skops with trusted types)."""
