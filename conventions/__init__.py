"""What every part of the API shares, so each has one home: the one error shape (`errors`) and how
times are written (`times`). Plain conventions: no app of the product is imported here."""
