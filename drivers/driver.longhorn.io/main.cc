// Discoblocks driver for driver.longhorn.io (Longhorn CSI): the nine contract
// exports, each a pure function from longhorn.h registered with the SDK, which
// reads the inputs, applies the outcome rules and writes the answer.
#include "longhorn.h"

DISCOBLOCKS_IS_STORAGE_CLASS_VALID(longhorn::IsStorageClassValid)
DISCOBLOCKS_GET_STORAGE_CLASS_ALLOWED_TOPOLOGY(longhorn::AllowedTopology)
DISCOBLOCKS_GET_PVC_STUB(discoblocks::driver::PvcStub)
DISCOBLOCKS_GET_CSI_DRIVER_NAMESPACE(longhorn::Namespace)
DISCOBLOCKS_GET_CSI_DRIVER_POD_LABELS(longhorn::PodLabels)
DISCOBLOCKS_GET_PRE_MOUNT_COMMAND(longhorn::PreMountCommand)
DISCOBLOCKS_GET_PRE_RESIZE_COMMAND(longhorn::PreResizeCommand)
DISCOBLOCKS_IS_FILE_SYSTEM_MANAGED(longhorn::FileSystemManaged)
DISCOBLOCKS_WAIT_FOR_VOLUME_ATTACHMENT_META(longhorn::AttachmentMetaKey)
