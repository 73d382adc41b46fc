enum _PlaceholderCaduceusStorageSQLite {}
