// The public structs <-> the stored records (directory_records.proto).

#ifndef OMNIROUTE_DIRECTORY_SRC_CONVERT_H_
#define OMNIROUTE_DIRECTORY_SRC_CONVERT_H_

#include "directory_records.pb.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory::internal {

Customer CustomerFromRecord(const CustomerRecord& record);
CustomerRecord CustomerToRecord(const Customer& customer);

Interaction InteractionFromRecord(const InteractionRecord& record);
InteractionRecord InteractionToRecord(const Interaction& interaction);

EngineerRecord EngineerFromRecord(const EngineerRecordValue& record);
EngineerRecordValue EngineerToRecord(const EngineerRecord& engineer);

Handle HandleFromValue(const HandleValue& value);

}  // namespace omniroute::directory::internal

#endif  // OMNIROUTE_DIRECTORY_SRC_CONVERT_H_
