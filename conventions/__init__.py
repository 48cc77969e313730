"""What every part of the API shares, so each has one home: the one error shape (`errors`), how
times are written (`times`) and the ids a URL path may carry (`ids`). Plain conventions: no app of
the product is imported here."""
